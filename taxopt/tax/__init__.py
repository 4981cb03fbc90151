"""Pure tax functions: holding period, netting, wash-sale windows. No solver in here."""

from .holding import days_to_long_term, is_long_term, long_term_from
from .netting import NettedYear, net_year, plan_tax, year_tax
from .wash import WASH_WINDOW_DAYS, disallowed_losses, recent_buy_equivalents, recent_loss_groups

__all__ = ["WASH_WINDOW_DAYS", "NettedYear", "days_to_long_term", "disallowed_losses",
           "is_long_term", "long_term_from", "net_year", "plan_tax", "recent_buy_equivalents",
           "recent_loss_groups", "year_tax"]

"""A batch's option defaults: a TOML config file, then ``--set KEY=VALUE``, then each household.

Precedence, lowest first: the built-in default of each option (`taxopt.options`),
the config file's ``[options]`` table, ``--set`` on the command line, and a
household's rows in table ``options``. A layer names only the options it
changes; each is validated on its own, so a bad value is blamed on the file
or the flag that gave it (exit code 2, nothing solved).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import InvalidInput, InvalidOptions


def _checked(where: str, options: dict[str, Any]) -> dict[str, Any]:
    from ..options import Options, with_none_spelled_out

    options = with_none_spelled_out(options)
    try:
        Options.from_dict(options)
    except InvalidOptions as err:
        raise InvalidInput(None, where, err.field, err.problem) from None
    except (TypeError, ValueError) as err:
        raise InvalidInput(None, where, None, str(err)) from None
    return options


def load_config(path: str | Path) -> dict[str, Any]:
    """The ``[options]`` table of a TOML config file (validated); other tables are refused."""
    import tomllib

    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise InvalidInput(None, f"--config {path}", None,
                           f"cannot read the file ({err.strerror or type(err).__name__})"
                           ) from None
    except UnicodeDecodeError as err:
        raise InvalidInput(None, f"--config {path}", None,
                           f"not UTF-8 text (byte {err.object[err.start]:#04x} at offset "
                           f"{err.start}); TOML files are UTF-8") from None
    except tomllib.TOMLDecodeError as err:
        raise InvalidInput(None, f"--config {path}", None, f"not valid TOML: {err}") from None
    extra = sorted(k for k in doc if k != "options")
    if extra:
        raise InvalidInput(None, f"--config {path}", extra[0],
                           "unknown table or key; the config file holds an [options] table")
    options = doc.get("options", {})
    if not isinstance(options, dict):
        raise InvalidInput(None, f"--config {path}", "options", "must be a table: [options]")
    return _checked(f"--config {path} [options]", dict(options))


def parse_sets(pairs: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """``--set KEY=VALUE`` pairs (the value parsed as JSON when it parses, else text)."""
    from .tables import parse_value

    out: dict[str, Any] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key.strip():
            raise InvalidInput(None, "--set", None, f"expected KEY=VALUE, got {pair!r}")
        out[key.strip()] = parse_value(value)
    return _checked("--set", out)


def batch_defaults(config: str | Path | None, sets: tuple[str, ...] | list[str] = ()
                   ) -> dict[str, Any]:
    """The options every household of the batch starts from (its own rows still win)."""
    out = load_config(config) if config is not None else {}
    out.update(parse_sets(sets))
    return out

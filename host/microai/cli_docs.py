"""docs/cli.md, the CLI reference, made from the click commands themselves (their help
texts and options): `python -m microai.cli_docs > docs/cli.md`; a test keeps the
committed file equal to this output."""

from __future__ import annotations

import inspect

import click

from .cli import main


def _option(p: click.Parameter) -> str:
    if isinstance(p, click.Argument):
        return f"| `{p.human_readable_name}` | argument{' (required)' if p.required else ''} |"
    names = ", ".join(f"`{o}`" for o in p.opts + p.secondary_opts)
    kind = "flag" if getattr(p, "is_flag", False) else p.type.name
    if isinstance(p.type, click.Choice):
        kind = " \\| ".join(p.type.choices)
    default = ""
    if p.default not in (None, False, ()) and getattr(p, "show_default", False):
        default = f" (default: {p.default})"
    help_text = (getattr(p, "help", None) or "").replace("|", "\\|")
    return f"| {names} | {kind}{default}: {help_text} |".replace(": |", " |")


def render() -> str:
    out = [
        "# microai CLI reference",
        "",
        "Generated from the commands themselves: `python -m microai.cli_docs > docs/cli.md`.",
        'Exit codes: README.md, "Exit codes".',
        "",
    ]
    for name in sorted(main.commands):
        cmd = main.commands[name]
        ctx = click.Context(cmd, info_name=f"microai {name}")
        out += [f"## microai {name}", "", f"```\n{cmd.get_usage(ctx)}\n```", ""]
        out += [inspect.cleandoc(cmd.help) if cmd.help else "", ""]
        params = [p for p in cmd.params if p.name != "help"]
        if params:
            out += ["| option | what |", "|---|---|", *(_option(p) for p in params), ""]
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")

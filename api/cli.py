"""The ``mujun`` command line: one typer app; command groups live in their own modules."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="mujun",
    help="亩均 mujun — 成都工业用地合规评估（规则引擎、合规地图、数据库与接口）",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each module registers its commands on ``app`` when imported (``register(app)``).
_COMMAND_MODULES = ("api.cli_core", "api.cli_maps", "api.cli_store", "api.cli_users", "api.cli_planner")


def _load_commands() -> None:
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that command group is not built yet
                continue
            raise
        module.register(app)


def main() -> None:
    """Entry point of the ``mujun`` console script."""
    _load_commands()
    app()

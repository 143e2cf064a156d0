"""The `carebench` command: serve, demo, worker-free admin tasks, audit, backup and restore.

Each sub-command is a Django management command in one of the apps; this module only routes.
"""

from __future__ import annotations

import os
import sys

COMMANDS = {
    "serve": "carebench_serve",
    "worker": "carebench_worker",
    "demo": "carebench_demo",
    "token": "carebench_token",
    "audit": "carebench_audit",
    "backup": "carebench_backup",
    "restore": "carebench_restore",
    "terminology": "carebench_terminology",
    "ekg": "carebench_ekg",
    "hl7": "carebench_hl7",
    "x12": "carebench_x12",
    "claims": "carebench_claims",
    "eligibility": "carebench_eligibility",
    "bench": "carebench_bench",
    "migrate": "migrate",
    "manage": None,
}


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carebench.settings")
    from django.core.management import execute_from_command_line

    if not argv or argv[0] in {"-h", "--help", "help"}:
        print("usage: carebench COMMAND [ARGS]\n\ncommands:")
        for name in COMMANDS:
            print(f"  {name}")
        print("\n`carebench COMMAND --help` tells more; `carebench manage ...` runs manage.py.")
        return
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"carebench: unknown command {name!r}; try `carebench --help`", file=sys.stderr)
        sys.exit(2)
    target = COMMANDS[name]
    execute_from_command_line(["carebench", *([target] if target else []), *rest])


if __name__ == "__main__":
    main()

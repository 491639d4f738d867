"""
Command-line entry to the world's own logic, outside the server.

    bin/timmy build          rebuild the regions from world/regions.toml

Each subcommand sets up Django and Evennia (without starting a server), does
one thing through the same functions the in-game commands use, prints what an
operator needs and exits with a code that means something:

    0  done          1  the operation failed          2  bad usage or input
"""

import argparse
import os
import sys

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
GAME_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def setup_django():
    """Load settings and Evennia the way the launcher does, without a server."""
    if GAME_DIR not in sys.path:
        sys.path.insert(0, GAME_DIR)
    os.chdir(GAME_DIR)
    os.environ["DJANGO_SETTINGS_MODULE"] = "server.conf.settings"
    import django

    django.setup()
    import evennia

    evennia._init()


def initial_setup_done():
    """True once the server's first start has made Account #1 and Limbo."""
    from evennia.server.models import ServerConfig

    return ServerConfig.objects.conf("last_initial_setup_step") in ("done", -1)


def cmd_build(args):
    """Rebuild the world from the region data file."""
    from world.builder import build_world
    from world.regions import RegionDataError

    if not initial_setup_done():
        print("The server has not run its first start yet; it builds the world then.")
        return EXIT_OK
    try:
        report = build_world(args.file)
    except RegionDataError as err:
        print(f"The world was not changed. {err}", file=sys.stderr)
        return EXIT_USAGE
    print(report.summary())
    for line in report.created + report.updated + report.removed:
        print(f"  {line}")
    return EXIT_OK


def build_parser():
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="bin/timmy", description="Timmy World operations CLI.")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="rebuild the regions from the data file")
    build.add_argument("--file", help="region data file (default: settings.TIMMY_REGIONS_FILE)")
    build.set_defaults(func=cmd_build)
    return parser


def main(argv=None):
    """Parse arguments, set up Django, run one subcommand, return its exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code else EXIT_OK
    setup_django()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

"""
Command-line entry to the world's own logic, outside the server.

    bin/timmy build          rebuild the regions from world/regions.toml
    bin/timmy checks         validate and list the service checks in settings
    bin/timmy heartbeat      one beat outside the game (exit 1: a critical service is down)
    bin/timmy check-settings warn about settings unsafe in production (exit 1: some)

Each subcommand sets up Django and Evennia (without starting a server), does
one thing through the same functions the in-game commands use, prints what an
operator needs and exits with a code that means something:

    0  done          1  the operation failed          2  bad usage or input
    3  refused because the server is running (restore)

Backups: bin/timmy backup | list | verify | drill | restore | prune (world/backup/cli.py).
"""

import argparse
import contextlib
import os
import sys

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_SERVER_RUNNING = 0, 1, 2, 3
GAME_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def setup_django():
    """Load settings and Evennia the way the launcher does, without a server."""
    if GAME_DIR not in sys.path:
        sys.path.insert(0, GAME_DIR)
    os.chdir(GAME_DIR)
    os.environ["DJANGO_SETTINGS_MODULE"] = "server.conf.settings"
    import django

    # Evennia prints notes while it loads (e.g. "Gametime offset could not
    # load - db not set up." before a restore): to stderr, so that stdout
    # carries only the command's own output (`bin/timmy list --json`).
    with contextlib.redirect_stdout(sys.stderr):
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


def load_checks_or_say_why():
    """The configured service checks, or None after printing what is malformed."""
    from world.heartbeat.config import CheckConfigError, configured_checks

    try:
        return configured_checks()
    except CheckConfigError as err:
        print(f"Service checks are invalid: {err}", file=sys.stderr)
        return None


def cmd_checks(args):
    """Validate settings.HEALTH_CHECKS; print the checks or the malformed entry."""
    checks = load_checks_or_say_why()
    if checks is None:
        return EXIT_USAGE
    if not args.quiet:
        for check in checks:
            print(f"{check.name:<12} {check.kind:<8} {check.severity}  {check.region or '-':<8} {check.target}")
    return EXIT_OK


def cmd_heartbeat(args):
    """Run one beat outside the game; exit 1 if a critical (P0/P1) service is down."""
    from evennia.utils.ansi import strip_ansi
    from twisted.internet import reactor

    from world.heartbeat.cycle import run_cycle
    from world.servicestate import DOWN
    from world.status_report import probe_table

    checks = load_checks_or_say_why()
    if checks is None:
        return EXIT_USAGE
    outcome = {}

    def start():
        deferred = run_cycle(checks)
        deferred.addCallback(lambda results: outcome.__setitem__("results", results))
        deferred.addErrback(lambda failure: outcome.__setitem__("error", failure.getErrorMessage()))
        deferred.addBoth(lambda _: reactor.stop())

    reactor.callWhenRunning(start)
    reactor.run()
    if "error" in outcome:
        print(f"The heartbeat failed: {outcome['error']}", file=sys.stderr)
        return EXIT_FAILED
    results = outcome["results"]
    print("\n".join(strip_ansi(line) for line in probe_table(results)))
    critical = {check.name for check in checks if check.critical}
    down = [r.name for r in results if r.state == DOWN and r.name in critical]
    if down:
        print(f"Critical service(s) down: {', '.join(down)}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_check_settings(args):
    """Warn about settings that are unsafe in production; exit 1 if there are any."""
    from django.conf import settings

    from world.settingscheck import check_settings

    warnings = check_settings(settings, GAME_DIR)
    if not warnings:
        print("Settings check: nothing unsafe found.")
        return EXIT_OK
    print("!" * 78)
    print(f"!! Settings check: {len(warnings)} unsafe setting(s) for production")
    for warning in warnings:
        print(f"!!   {warning}")
    print("!" * 78)
    return EXIT_FAILED


def cmd_preflight(args):
    """What `bin/timmy run` does before a start, in one process: validate the
    service checks (fatal), warn about unsafe settings (loud, not fatal), and
    rebuild the world."""
    checks = argparse.Namespace(quiet=True)
    code = cmd_checks(checks)
    if code != EXIT_OK:
        return code
    cmd_check_settings(args)
    return cmd_build(argparse.Namespace(file=None))


def build_parser():
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="bin/timmy", description="Timmy World operations CLI.")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="rebuild the regions from the data file")
    build.add_argument("--file", help="region data file (default: settings.TIMMY_REGIONS_FILE)")
    build.set_defaults(func=cmd_build)
    checks = sub.add_parser("checks", help="validate and list the service checks in settings")
    checks.add_argument("--quiet", action="store_true", help="print nothing when they are valid")
    checks.set_defaults(func=cmd_checks)
    heartbeat = sub.add_parser("heartbeat", help="run one heartbeat now; exit 1 if a critical service is down")
    heartbeat.set_defaults(func=cmd_heartbeat)
    preflight = sub.add_parser("preflight", help="checks, settings warnings and build, as `run` does")
    preflight.set_defaults(func=cmd_preflight)
    check = sub.add_parser("check-settings", help="warn about settings unsafe in production (exit 1 if any)")
    check.set_defaults(func=cmd_check_settings)
    from world.backup.cli import add_parsers as add_backup_parsers

    add_backup_parsers(sub)  # backup, list, verify, drill, restore, prune
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

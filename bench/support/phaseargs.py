"""The command line, Bench and work folder of the phase benchmarks (bench/look_hops.py, bench/server_turns.py)."""

import argparse
import contextlib
import shutil
import tempfile


def parse_phase_args(description, argv=None):
    """--players, --samples, --agents, --keep and --world-env NAME=VALUE (a dict once parsed)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--players", type=int, default=100, help="dummyrunner players")
    parser.add_argument("--samples", type=int, default=2000, help="looks per phase")
    parser.add_argument("--agents", action="store_true",
                        help="a phase with the agents on a fake Ollama (2 s) and the heartbeat every 5 s")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (what was recorded, logs)")
    parser.add_argument("--world-env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for Timmy World (repeatable)")
    args = parser.parse_args(argv)
    if any("=" not in pair or not pair.split("=", 1)[0] for pair in args.world_env):
        parser.error("--world-env takes NAME=VALUE")
    args.world_env = dict(pair.split("=", 1) for pair in args.world_env)
    return args


def phase_bench(args, workdir):
    """bench/latency.py's Bench for Timmy World, set up from the phase arguments."""
    from bench.latency import Bench, parse_args

    bench = Bench(parse_args(["--only", "timmy", "--players", str(args.players)]), workdir)
    bench.args.world_env = args.world_env
    return bench


@contextlib.contextmanager
def work_folder(prefix, keep):
    """A temporary folder for a run: removed afterwards, or kept (and named) with --keep."""
    path = tempfile.mkdtemp(prefix=prefix)
    try:
        yield path
    finally:
        if keep:
            print(f"\nwork folder kept: {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)

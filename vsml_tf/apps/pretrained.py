"""List the shipped learners with their figures, or add a finished run to them.

    python -m vsml_tf.apps.pretrained                     # list (command, wall time, seed, table)
    python -m vsml_tf.apps.pretrained export --workdir=DIR --name=NAME --command=... \
        --wall_time_s=S [--horizon=STEPS]
"""

from __future__ import annotations

import argparse
import sys

from vsml_tf.runs import loading, pretrained


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m vsml_tf.apps.pretrained",
                                     description="List (default) or export shipped learners.")
    sub = parser.add_subparsers(dest="action")
    exp = sub.add_parser("export", help="add a finished vsml-train run to the package")
    exp.add_argument("--workdir", required=True)
    exp.add_argument("--name", required=True)
    exp.add_argument("--command", required=True, help="the command that trained it")
    exp.add_argument("--wall_time_s", type=float, required=True)
    exp.add_argument("--git_commit", default="")
    exp.add_argument("--curves_csv", default="", help="default: WORKDIR/eval/curves.csv")
    exp.add_argument("--learner", default="", help="its label in the curves, where they "
                     "hold several learners (a clone next to its SGD)")
    exp.add_argument("--horizon", type=int, default=0, help="the longest stream (steps) "
                     "it was checked to keep learning on (python -m vsml_tf.tools."
                     "stability); default: its longest meta-test or meta-training episodes")
    exp.add_argument("--iterations", type=int, default=0, help="the iterations of the "
                     "whole chain of runs in --command; default: the checkpoint's")
    args = parser.parse_args(argv)
    if args.action == "export":
        print(pretrained.export(args.workdir, args.name, args.command, args.wall_time_s,
                                args.git_commit, args.curves_csv, args.learner,
                                args.horizon, args.iterations))
    print(loading.listing())


if __name__ == "__main__":
    main(sys.argv[1:])

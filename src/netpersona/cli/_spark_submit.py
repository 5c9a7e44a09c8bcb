"""``spark-submit <this file> <netpersona command> ...``: the command line in a submitted driver.

The engine never calls the command line; this entry point lives with it. Submit it with::

    spark-submit --master yarn "$(python -c 'import netpersona.cli._spark_submit as m; print(m.__file__)')" \\
        rejoin identify --queries hdfs:///logs/new/ --workspace np_library --out hdfs:///out/m
"""  # noqa: E501

from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    # run as a script: Python put this folder first on the path, where our private modules
    # could shadow others' (e.g. a package's own _engines or _options)
    _HERE = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]


def submit_main(argv: list[str] | None = None) -> None:
    """Run the netpersona command line in the submitted driver, on the Spark engine unless the
    command names one."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "--engine" not in args and not any(a.startswith("--engine=") for a in args):
        args.append("--engine=spark")
    sys.argv = ["netpersona", *args]
    import netpersona.cli

    netpersona.cli.main()


if __name__ == "__main__":
    submit_main()

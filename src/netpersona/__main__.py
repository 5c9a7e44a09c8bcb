"""``python -m netpersona``: the same command-line tool as ``netpersona``."""

from netpersona.cli import main

if __name__ == "__main__":
    main()

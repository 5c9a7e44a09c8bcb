"""Running the command line in the test's own process, for the tests that check its messages."""

from __future__ import annotations

from netpersona.cli import main


def run_raw(capsys, *args: str) -> tuple[int, str, str]:
    """``netpersona ARGS`` in this process: (exit status, stdout, stderr)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    out = capsys.readouterr()
    return code, out.out, out.err


def run(capsys, *args: str) -> tuple[int, str, str]:
    """:func:`run_raw`, and no traceback reaches the user."""
    code, out, err = run_raw(capsys, *args)
    assert "Traceback" not in err
    return code, out, err

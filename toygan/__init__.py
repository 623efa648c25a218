import sys

if sys.argv[:1] == ["-m"]:  # run as `python -m toygan.MODULE`: Ctrl-C exits with status 130
    from toygan.cli import install_sigint

    install_sigint()

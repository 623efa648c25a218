import sys

if sys.argv[:1] == ["-m"]:  # run as `python -m imagegan.MODULE`: Ctrl-C exits with status 130
    from toygan.cli import install_sigint

    install_sigint()

"""``python -m xtremedistil_ner`` == ``xdner``."""

from xtremedistil_ner.cli import main

main()

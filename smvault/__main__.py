from smvault.cli.main import entry

entry()

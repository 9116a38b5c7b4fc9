"""Pure rules and models: imports nothing else of smvault's and no database or UI library."""

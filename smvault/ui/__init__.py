"""The terminal UI (Textual). The only package that imports Textual; it calls services only."""

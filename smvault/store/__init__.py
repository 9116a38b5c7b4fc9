"""The vault on disk: the only package that imports sqlcipher3."""

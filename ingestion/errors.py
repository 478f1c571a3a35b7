"""Errors shared by the providers and the HTTP client they use."""


class ProviderError(RuntimeError):
    """A provider could not answer; the message names provider and symbol or series."""

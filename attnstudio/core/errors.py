"""Errors the core raises for bad input: each carries a message a person can act on."""


class AttnStudioError(ValueError):
    """Base class: an input the core cannot compute with, and why."""


class TokenizeError(AttnStudioError):
    """The sentence gives no tokens (empty or whitespace only)."""


class NotTextError(TokenizeError):
    """The sentence holds lone surrogates: bytes that were not UTF-8 when it was read (a
    command-line argument or a file decoded with ``surrogateescape``), which no token can hold."""


class SettingsError(AttnStudioError):
    """A setting is out of range or inconsistent (e.g. d_model not divisible by heads)."""


class MatrixError(AttnStudioError):
    """A user-supplied matrix has the wrong shape or a value that is not a finite number."""


class MaskError(AttnStudioError):
    """A padding token or masked cell that is not a token position of the sentence, or is
    given twice."""


class NotEnoughMemoryError(AttnStudioError, MemoryError):
    """A computation would need more memory than the machine has available (checked before
    allocating, so the refusal is immediate and names the sizes)."""


class NoSuchIndexError(AttnStudioError, IndexError):
    """A layer or head index a trace does not have (also an IndexError, as it used to be)."""


class ModelError(AttnStudioError):
    """A model folder that cannot be used: a file missing, unreadable or malformed, an
    architecture or setting attnstudio does not implement, a tensor of the wrong shape, a
    package the real-model support needs that is not installed."""

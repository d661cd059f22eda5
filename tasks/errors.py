"""How a task's ``run`` tells the engine what went wrong (anything else counts as transient)."""


class TaskError(Exception):
    """Base of the engine's own exceptions."""


class PermanentError(TaskError):
    """Bad input or undecodable media: retrying cannot help, so the task fails at once."""


class TransientError(TaskError):
    """A failure worth retrying later (with backoff), e.g. storage briefly unreachable."""


class TaskTimeout(TransientError):
    """The attempt ran past its ``timeout_seconds``; its subprocesses were killed."""


class TaskCancelled(TaskError):
    """Raised inside ``run`` once the task was cancelled or deleted; the engine stops it."""


class WorkerShuttingDown(TaskError):
    """Raised inside ``run`` when the worker stops gracefully; the task is released, not failed."""

import os
import shlex


class Job:
    """A command to run later, with how to run it."""

    retry_codes = (75, 111)

    def __init__(self, command, cwd=None, extra=None, *,
                 priority=0, deadline=None, attempts=3, delay=0.5,
                 inp=None, out=None, err=None, inherit=False,
                 mask=-1, uid=None, gid=None, groups=None,
                 fds=(), close_all=True, detach=False,
                 codec=None, on_error=None, as_text=None, bufsize=-1,
                 label=None, callback=None):
        if not command:
            raise ValueError(
                "a worker needs a command to run, got %r" % (command,)
            )
        self.command = shlex.split(command) if isinstance(command, str) else list(command)
        self.cwd = cwd
        self.history = []
        for stream in (out, err):
            if stream is not None and not hasattr(stream, "write"):
                raise TypeError("streams must have a write method")
        if deadline is not None and deadline <= 0:
            raise ValueError("the deadline must be positive")
        self.deadline = deadline
        self.label = label or "job-%d" % id(self)
        self.callback = callback
        self.started = False
        self.exit_codes = []
        self.environment = dict(extra or {})
        if inherit:
            for key, value in os.environ.items():
                self.environment.setdefault(key, value)
        if priority:
            self.environment["JOB_PRIORITY"] = str(priority)
        if self.cwd is not None and not os.path.isdir(self.cwd):
            raise FileNotFoundError("no such directory: %s" % self.cwd)
        self.attempts = attempts
        self.delay = delay
        self.out = out
        self.err = err

    def start(self):
        if self.started:
            raise RuntimeError("already started")
        self.started = True
        return os.getpid()

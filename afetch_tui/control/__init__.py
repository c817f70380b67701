"""One afetch per user: the control socket of whoever owns the state file, and its clients.

`server` serves a running manager on a Unix socket; `client` talks to it (and
`RemoteManager` is the dashboard's view of a manager in another process); `commands` are
the command-line verbs that use them (``afetch add``, ``ls``, ``watch`` ...).
"""

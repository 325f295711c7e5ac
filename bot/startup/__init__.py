"""The composition root: the command line, start-up and shutdown, the dispatcher factory, the
webhook server and the local chat. Only this package wires the layers below it together."""

"""The Telegram side of the learning city assistant: settings, dispatcher, CLI."""

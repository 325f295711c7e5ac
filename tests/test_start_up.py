"""A starting bot imports only what answering its first update needs.

Libraries of rarely used features are imported by the function that uses them, so every start
does not pay for them in seconds and megabytes (bench/updates.py measures both).
"""

from __future__ import annotations

import subprocess
import sys

# A session's .ics file, a check-in QR code, the attendance report's chart; the search index
# (numpy, rapidfuzz), built at the first search.
LEFT_FOR_LATER = ["icalendar", "segno", "matplotlib", "numpy", "rapidfuzz"]


def test_starting_leaves_the_libraries_of_rare_features_for_later() -> None:
    code = (
        "import sys\n"
        "import bot.startup.cli, bot.startup.app\n"
        f"print(sorted(set({LEFT_FOR_LATER!r}) & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]"

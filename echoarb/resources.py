"""Files that ship inside the package: Avro schemas, the example pairs, the bundled sample.

They are found beside this module, never through a checkout, so an installed wheel works
from any directory. In the repository ``echoarb/schemas`` and ``echoarb/config`` are links
to the top-level ``schemas/`` and ``config/`` (edit them there); a wheel carries copies as
package data (``pyproject.toml``). The sink's migrations ship the same way
(``echoarb/sink/migrations``).
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
SCHEMAS_DIR = PACKAGE_DIR / "schemas"
"""The Avro schemas and their ``manifest.json`` (schema ids without a registry)."""
EXAMPLE_PAIRS = PACKAGE_DIR / "config" / "market_pairs.json"
"""The example market pairs: the default ``PAIRS_FILE``, and what the bundled sample covers."""
EXAMPLE_ALERTS = PACKAGE_DIR / "config" / "alerts.json"
"""The example alert rules (log only): the default ``ALERTS_FILE``."""
SAMPLE_RECORDING = PACKAGE_DIR / "config" / "recordings" / "sample.jsonl"
"""The bundled recording (``echoarb replay`` with no argument)."""

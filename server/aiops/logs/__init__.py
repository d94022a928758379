"""Log template mining: pure code, no I/O (`docs/architecture.md`, "Layout").

`TemplateMiner` learns templates from raw log lines online and matches lines to them;
`line_level` guesses a line's severity.
"""

from aiops.logs.levels import line_level
from aiops.logs.miner import MinerConfig, Template, TemplateMiner

__all__ = ["MinerConfig", "Template", "TemplateMiner", "line_level"]

"""The officers' service (``dronepatrol serve``): alert state in SQLite, shared with patrols.

See ``docs/overlay.md`` ("Officers' service").
"""

from groundstation.serve.store import ACK_STATES, DB_NAME, AlertStore, StoreFollower

__all__ = ["ACK_STATES", "DB_NAME", "AlertStore", "StoreFollower"]

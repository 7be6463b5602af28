"""The scan domain: lifecycle service, planning, shard execution, finalizing and rendering."""

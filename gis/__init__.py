"""mujun GIS layer: reading, checking and reprojecting geodata; overlays; maps. Knows nothing of rules."""

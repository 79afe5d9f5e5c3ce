"""Rendering shared by the synthetic world, the overlays and the appearance branch: a tile
rasteriser for triangle meshes (:mod:`.raster`), shaded mesh images with per-pixel mesh ids
and depth (:mod:`.mesh`), and the look-at camera and pinhole projection (:mod:`.camera`)."""

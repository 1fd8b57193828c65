"""The clothing colour vocabulary shared by detection and the reminders (pure Python, no OpenCV).

:mod:`detection.colours` names pixels with these words; :mod:`broadcast.reminders` speaks them.
Keeping the table here lets ``broadcast`` import it without pulling in OpenCV.
"""

from __future__ import annotations

COLOUR_NAMES_ZH: dict[str, str] = {
    "black": "黑色",
    "white": "白色",
    "grey": "灰色",
    "red": "红色",
    "orange": "橙色",
    "yellow": "黄色",
    "green": "绿色",
    "cyan": "青色",
    "blue": "蓝色",
    "purple": "紫色",
    "pink": "粉色",
    "brown": "棕色",
}
"""English colour name -> Chinese (as spoken in reminders: 穿红色衣服的...).

The basic colour terms of Berlin & Kay (*Basic Color Terms*, 1969); the order is the index order
of :func:`detection.colours.name_pixels`."""

"""Loudspeaker voice reminders: alert → reminder text (zh/en) → speech (pyttsx3 on espeak-ng) →
loudspeaker (sounddevice), with priorities, cooldowns and no overlapping speech.

Modules: :mod:`broadcast.reminders` (texts), :mod:`broadcast.normalize` (numbers as words),
:mod:`broadcast.speech` (``Synthesizer``), :mod:`broadcast.playback` (``Player``),
:mod:`broadcast.announcer` (``Announcer``, ``BroadcastRecord``), :mod:`broadcast.testing`
(ALSA file sink for tests). See ``docs/broadcast.md``. Importing this package loads none of the
audio libraries.
"""

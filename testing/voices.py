"""The fast voice for tests that do not judge the voice: espeak-ng's Spanish variant `m1`, named
explicitly now that Spanish's default voice is Kokoro (slower to load and to speak). A test that
judges the voice, or the default, names neither and gets the deployment's default."""

FAST_SPANISH_VOICE = "m1"

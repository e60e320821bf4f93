"""``answer_benchmark``'s parts: the baseline it compares with (``free``), its own checks of
the answers (``checks``), independent of the service's verifier, and the full-text domain it
asks about (``fulltexts``)."""

"""The generation pipeline: shared constants now; one module per stage later (STYLE rule 25)."""

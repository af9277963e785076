"""The engines that run the passes of a scoring run: this process, or a Ray cluster (:mod:`.ray`)."""

__all__: list[str] = []

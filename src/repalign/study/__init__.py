"""Studies: many models x human datasets x transfer tasks x robustness, resumable.

:mod:`.config` validates a study file, :mod:`.store` keeps one atomic record per
finished unit, :mod:`.executors` runs units locally or on Ray, :mod:`.runner` drives it.
"""

"""HTTP models of intake: ``requests`` (bodies, validated so a 422 names the field) and
``responses`` (what clerks and citizens are shown, mapped from records)."""

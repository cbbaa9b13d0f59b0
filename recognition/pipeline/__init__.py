"""One frame to evidence: detection, quality, alignment, embedding, enrolment, the decision rule."""

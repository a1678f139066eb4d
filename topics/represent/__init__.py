"""Topic representations: c-TF-IDF terms, names and representative documents."""

from topics.represent.ctfidf import RepresentationError, TopicRepresentation, build_vectorizer, represent

__all__ = ["RepresentationError", "TopicRepresentation", "build_vectorizer", "represent"]

"""Training pages: the learner's side (``learner``) and the staff's (``staff``)."""

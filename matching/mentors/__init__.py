"""Mentor matching (MatchMentors): funded organizations to mentors who cover their weak areas,
proven optimal by CP-SAT, with ranked alternatives and reasons. Entry point:
engine.match_mentors."""

"""Memory: the translation memory store and the policy that decides editors' approvals."""

"""The student: a shared multilingual BiLSTM-CRF over words."""

"""Fine-tuning a domain's generative model: its training examples and the LoRA training."""

"""Training a LoRA style on a small folder of captioned images (the `train-lora` command and dialog).

dataset: which images and captions, checked before any model loads; latents: each image encoded by the
VAE once; adapters: the LoRA layers and the .safetensors file the renderer loads; checkpoints: saving
and resuming a run; settings: the hyperparameters; lora_train: the job that ties them together.
"""

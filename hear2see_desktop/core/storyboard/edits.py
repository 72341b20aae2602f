"""Keeping the user's scene edits when the storyboard is rebuilt, and the board a render uses.

The app rebuilds the scenes when the transcript, the style or the scene lengths change; prompts the
user typed into a scene must survive that wherever the scene still exists, and the user is asked
before anything they wrote is lost.
"""

from __future__ import annotations

from dataclasses import replace

from hear2see_desktop.core.storyboard.board import Storyboard, rebuild_prompts

SCENE_MATCH_S = 0.05
"""Two scenes whose start and end differ by at most this are the same scene."""


def carry_scene_edits(old: Storyboard | None, new: Storyboard, times_edited: bool) -> tuple[Storyboard, int]:
    """`new` with the prompts and sound words the user wrote (or switched off) in `old` kept on scenes with the
    same times (within SCENE_MATCH_S), and how many of the user's edits it could not keep (moved cuts count as
    one). Scenes whose sound words were carried get their prompts built again."""
    if old is None:
        return new, 0
    scenes = list(new.scenes)
    lost = 0
    sounds_carried = False
    for scene in old.scenes:
        if not scene.edited and not scene.sound_edited:
            continue
        match = next((i for i, candidate in enumerate(scenes)
                      if abs(candidate.start_s - scene.start_s) <= SCENE_MATCH_S
                      and abs(candidate.end_s - scene.end_s) <= SCENE_MATCH_S), None)
        if match is None:
            lost += 1
            continue
        if scene.sound_edited:
            scenes[match] = replace(scenes[match], sound_words=scene.sound_words,
                                    sound_words_on=scene.sound_words_on, sound_edited=True)
            sounds_carried = True
        if scene.edited:
            scenes[match] = replace(scenes[match], prompt=scene.prompt, edited=True)
    if times_edited and not same_cuts(old, new):
        lost += 1
    carried = replace(new, scenes=scenes)
    return (rebuild_prompts(carried) if sounds_carried else carried), lost


def same_cuts(first: Storyboard | None, second: Storyboard | None) -> bool:
    """Whether two storyboards cut the narration at the same times (within SCENE_MATCH_S)."""
    if first is None or second is None or len(first.scenes) != len(second.scenes):
        return False
    return all(abs(a.start_s - b.start_s) <= SCENE_MATCH_S for a, b in zip(first.scenes, second.scenes, strict=True))


def board_for_render(board: Storyboard, mode: str, prompt: str, negative: str, prompt_typed: bool,
                     negative_typed: bool, scenes_edited: bool) -> Storyboard | None:
    """The scenes a render uses: per-scene prompts in every mode, with what the user typed winning.

    A whole-clip `prompt` the user typed stands for every scene they did not write a prompt for; in
    classic mode with no scene edits it is the paper's single-prompt render (no storyboard). A
    typed `negative` applies to every scene.
    """
    if mode == "classic" and prompt_typed and not scenes_edited:
        return None
    scenes = []
    for scene in board.scenes:
        if prompt_typed and not scene.edited:
            scene = replace(scene, prompt=prompt)
        if negative_typed:
            scene = replace(scene, negative_prompt=negative)
        scenes.append(replace(scene))
    return replace(board, scenes=scenes)

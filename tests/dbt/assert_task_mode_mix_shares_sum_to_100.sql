-- Every row of task_mode_mix that shows figures splits its conversations completely: the
-- six mode shares add up to 100, and so do automation, augmentation and none. A failing
-- row has a mode that the interaction_modes seed does not place.
select
    mix_level,
    cell_key,
    directive_pct + feedback_loop_pct + task_iteration_pct + learning_pct + validation_pct
        + none_pct as mode_total_pct,
    automation_pct + augmentation_pct + none_pct as collaboration_total_pct

from {{ ref('task_mode_mix') }}
where directive_pct is not null
    and (
        abs(
            directive_pct + feedback_loop_pct + task_iteration_pct + learning_pct
            + validation_pct + none_pct - 100
        ) > 0.01
        or abs(automation_pct + augmentation_pct + none_pct - 100) > 0.01
    )

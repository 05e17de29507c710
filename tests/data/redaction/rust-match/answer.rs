pub fn summary(item: &Shape, verbose: bool) -> String {
    match item {
        Shape::Circle { radius } if *radius == 0.0 => {
            let note = if verbose { "a point, not a circle" } else { "point" };
            note.to_string()
        }
        Shape::Circle { .. } => "circle".into(),
        Shape::Square { side } => format!("square of side {:.2} and area {:.2}", side, side * side),
        Shape::Rect { width, height } => format!("rectangle {:.2} by {:.2} and area {:.2}", width, height, width * height),
        Shape::Triangle { base, height } => format!("triangle of base {:.2} and area {:.2}", base, 0.5 * base * height),
        Shape::Ellipse { major, minor } => format!("ellipse {:.2} by {:.2} and area {:.2}", major, minor, 3.14159 * major * minor),
    }
}

pub enum Shape {
    Circle { radius: f64 },
    Square { side: f64 },
    Rect { width: f64, height: f64 },
    Triangle { base: f64, height: f64 },
    Ellipse { major: f64, minor: f64 },
}

pub fn describe(shape: &Shape) -> String {
    match shape {
        Shape::Circle { radius } => format!("circle of radius {:.2} and area {:.2}", radius, 3.14159 * radius * radius),
        Shape::Square { side } => format!("square of side {:.2} and area {:.2}", side, side * side),
        Shape::Rect { width, height } => format!("rectangle {:.2} by {:.2} and area {:.2}", width, height, width * height),
        Shape::Triangle { base, height } => format!("triangle of base {:.2} and area {:.2}", base, 0.5 * base * height),
        Shape::Ellipse { major, minor } => format!("ellipse {:.2} by {:.2} and area {:.2}", major, minor, 3.14159 * major * minor),
    }
}
